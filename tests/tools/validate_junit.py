#!/usr/bin/env python3
"""Checks a JUnit XML file the way CI systems read it: against an XSD (xmlschema) and with a
real JUnit consumer (junitparser). Prints what junitparser saw as JSON; exits 1 if invalid."""
import json
import sys

import junitparser
import xmlschema

path, xsd = sys.argv[1], sys.argv[2]
xmlschema.XMLSchema(xsd).validate(path)
xml = junitparser.JUnitXml.fromfile(path)
suites = []
for suite in xml:
    cases = []
    for case in suite:
        outcome = "pass"
        for r in case.result:
            outcome = type(r).__name__.lower()
        cases.append({"name": case.name, "classname": case.classname, "outcome": outcome})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures, "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps({"suites": suites}))
