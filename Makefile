.PHONY: demo demo-reset test check bench scale-test image deploy-test

# Start the whole product with demo data: web, Redis, an RQ worker and the GHL sandbox.
# A second run resumes the same demo (port, logins, tokens, data, sandbox state).
demo:
	bin/demo

# Start the demo afresh: a new database, sandbox state, port, key, logins and tokens.
demo-reset:
	bin/demo --reset

# Run the whole test suite on real Redis, PostgreSQL and headless Chromium.
test:
	bin/test

# Django's checks and the migrations check.
check:
	bin/setup test
	DEBUG=true .venv/bin/python manage.py check
	DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run

# Every benchmark in bench/, then one table: each figure, its target, met or not.
bench:
	bin/setup test
	bench/all

# Optional: one graduated day on the production topology (PostgreSQL, Redis,
# gunicorn, three dispatch workers, the GHL sandbox at GHL's limits) under
# killed workers, a Redis restart, a 429 storm and ambiguous 5xx; a few minutes.
scale-test:
	bin/setup test
	bin/scale-test

# The deployable image (Containerfile), built with podman.
image:
	bin/image

# Optional: the image deployed as staging and production on this machine, the
# smoke matrix against both, and a worker stopped with SIGTERM mid-send.
deploy-test: image
	bin/setup test
	bin/deploy-test
