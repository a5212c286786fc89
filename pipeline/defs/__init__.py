"""Every definition of the code location, one folder per pipeline plus platform/; pipeline/definitions.py loads them all."""
