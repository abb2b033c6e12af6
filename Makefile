# Conveniences; every target is a plain command you can also run yourself.
PYTHON ?= python3

.PHONY: wheelhouse docs check-docs

# A wheelhouse for an offline NIM master (README: "Installing on a NIM master (offline)").
wheelhouse:
	$(PYTHON) scripts/make_wheelhouse.py --dest dist/wheelhouse

# The man page and the shell completions, from the argparse definitions.
docs:
	$(PYTHON) -m nimwatch.gendocs

check-docs:
	$(PYTHON) -m nimwatch.gendocs --check
