"""The From line as GHL is sent it and as a person reads it: pure functions over strings.

Apart from the rest of sending so that the card's model can name the From line
its approval covers without importing the renderer, which imports the model.
"""

from __future__ import annotations

from email.headerregistry import HeaderRegistry
from email.utils import formataddr

from compliance.identity import ascii_domain

_HEADERS = HeaderRegistry()


def from_header(name: str, address: str) -> str:
    """Return the From line GHL is sent as its emailFrom: `Name <address>`, or the bare address without a name.

    GHL's send documents emailFrom only as "Email address to send from", but
    its own ProviderOutboundMessage webhook example carries
    `"emailFrom": "From Name <email@gmail.com>"`, and its email records give
    "from" as the sender's name and address: we read the field as the From
    header, name included. The name is written as RFC 5322 wants it: quoted
    when it holds specials such as a comma, RFC 2047-encoded when it is not
    ASCII. A name with a line break or a control character is refused before
    it can be sent: when the campaign is saved (Campaign.sender_name), at
    start-up (SENDER_NAME), and by the GHL client.
    """
    # Spaces around the name would only widen the header; a blank name leaves the bare address.
    name = name.strip()
    local, at, domain = address.rpartition("@")
    if at and not domain.isascii():
        # An internationalised domain travels in its ASCII form, as in any mail header: IDNA 2008,
        # as every domain here is read. Python's own "idna" codec is IDNA 2003, which folds ß to ss
        # and would send from another domain than the one typed.
        address = f"{local}@{ascii_domain(domain)}"
    return formataddr((name, address))


def display_from(header: str) -> str:
    """Return the From line as a mail program shows it: an encoded name decoded, quoting kept off."""
    try:
        parsed = _HEADERS("from", header)
    except Exception:  # noqa: BLE001 - the stdlib parser raises AttributeError and others on some malformed headers
        return header
    if len(parsed.addresses) != 1:
        return header
    [address] = parsed.addresses
    return f"{address.display_name} <{address.addr_spec}>" if address.display_name else address.addr_spec
