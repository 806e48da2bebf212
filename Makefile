.PHONY: demo test check bench

# Start the whole product with demo data: web, Redis, an RQ worker and the GHL sandbox.
demo:
	bin/demo

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
