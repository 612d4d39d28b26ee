# The two commands, for those who type make. dev.py does the work (it needs only Python 3.11).
PYTHON ?= python3.11

.PHONY: run test
run:
	$(PYTHON) dev.py run

test:
	$(PYTHON) dev.py test
