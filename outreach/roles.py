"""The two roles of the back office, as Django groups, and what each may do.

Kept in one place so the migration that creates the groups and the tests that
check them read the same lists.
"""

from __future__ import annotations

from django.contrib.auth.management import create_permissions

HEAD_OF_SALES = "Head of Sales"
OPERATOR = "Operator"

# (app_label, codename)
HEAD_OF_SALES_PERMISSIONS = [
    ("outreach", "view_pendingemail"),
    ("outreach", "change_pendingemail"),
    ("outreach", "review_pendingemail"),
    ("outreach", "view_lead"),
    ("outreach", "add_lead"),
    ("outreach", "change_lead"),
    ("outreach", "view_campaign"),
    ("outreach", "view_cadencestep"),
    ("outreach", "view_enrollment"),
    ("outreach", "view_rejectiontag"),
    ("outreach", "view_cardtransition"),
    ("outreach", "view_dispatchattempt"),
    ("compliance", "view_excludeddomain"),
    ("compliance", "view_donotcontact"),
    ("compliance", "view_suppression"),
    ("compliance", "view_identitycollision"),
    ("outreach", "view_emailevent"),
    ("outreach", "view_reply"),
    # The runbook's stop condition "HoS flags systemic copy failure": the
    # Head of Sales raises a hold; clearing it is an operator's (change_hold).
    ("ramp", "view_hold"),
    ("ramp", "add_hold"),
    # Reclassify a reply and mark it handled (the replies inbox).
    ("outreach", "change_reply"),
    # The quality rubric copy is reviewed against: both roles read it and may write its next version.
    ("ramp", "view_qualityrubric"),
    ("ramp", "add_qualityrubric"),
    ("ramp", "view_qualitysignoff"),
    ("ramp", "view_qualityconfirmation"),
    # Both roles read the proposed ramp policy changes; the Head of Sales approves them (below).
    ("ramp", "view_ramppolicychange"),
    # The daily report lives on the ramp day's page, linked from the index: both roles read it;
    # deciding the next day stays the operator's (change_rampday).
    ("ramp", "view_rampday"),
    # Everyone issues their own personal token in the admin: the ramp commands that record a
    # person's acts (sign-off, decisions) take it. Without change_apitoken (the Operator's)
    # that is all: no service tokens, and nobody else's tokens are seen (caio.admin).
    ("caio", "view_apitoken"),
    ("caio", "add_apitoken"),
]

# The runbook's exit criteria name the Head of Sales: "HoS approves the quality
# rubric and rejection reason taxonomy", "HoS confirms copy quality is stable".
# An operator does not vouch for the HoS, so these stay out of the Operator role
# (a person who is both holds both groups).
HEAD_OF_SALES_ONLY = [
    ("ramp", "sign_off_quality"),
    # Widening the ramp outside graduation takes two persons: the operator proposes, the Head of Sales approves.
    ("ramp", "approve_ramppolicychange"),
]

OPERATOR_PERMISSIONS = HEAD_OF_SALES_PERMISSIONS + [
    ("outreach", "run_live_cycle"),
    ("outreach", "add_campaign"),
    ("outreach", "change_campaign"),
    ("outreach", "add_cadencestep"),
    ("outreach", "change_cadencestep"),
    ("outreach", "change_enrollment"),
    ("outreach", "add_rejectiontag"),
    ("outreach", "change_rejectiontag"),
    ("compliance", "add_excludeddomain"),
    ("compliance", "change_excludeddomain"),
    ("compliance", "delete_excludeddomain"),
    ("compliance", "add_donotcontact"),
    ("compliance", "change_donotcontact"),
    ("compliance", "change_identitycollision"),
    ("ramp", "view_ramppolicy"),
    ("ramp", "change_ramppolicy"),
    ("ramp", "add_ramppolicychange"),
    ("ramp", "change_rampday"),
    ("ramp", "change_hold"),
    ("ramp", "view_preflightrun"),
    ("ramp", "view_queuetrace"),
    ("ramp", "view_livecycle"),
    ("outreach", "view_webhookdelivery"),
    ("outreach", "view_webhookrefusal"),
    # Service tokens, and rotating or revoking anyone's.
    ("caio", "change_apitoken"),
    # The deploys and the smoke and replay runs graduation reads.
    ("caio", "view_deployment"),
    ("caio", "view_gaterun"),
    # The RQ dashboard: it can delete and requeue dispatch jobs.
    ("django_rq", "admin"),
]

ROLES = {HEAD_OF_SALES: HEAD_OF_SALES_PERMISSIONS + HEAD_OF_SALES_ONLY, OPERATOR: OPERATOR_PERMISSIONS}


def sync_roles(apps) -> None:
    """Create or update the role groups with exactly their permissions.

    Called from migrations with the historical app registry: a permission whose
    model does not exist yet at that point in history is skipped, and the
    migration that adds the model syncs the roles again (a test checks that
    the groups match ROLES after all migrations).
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for app_label, codename in wanted:
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


def sync_roles_migration(apps, schema_editor) -> None:
    """Migration step: make the permissions of every model known so far, then sync the roles.

    On a new database Django creates permissions only after all migrations
    (post_migrate), so a migration that gives a role a new model's permission
    must create it first.
    """
    for app_config in apps.get_app_configs():
        # create_permissions skips an app whose models module is unset, as it is
        # in a migration's registry; put back what was there, so a caller with
        # the live registry keeps its apps as they were.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    sync_roles(apps)
