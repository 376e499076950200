"""What the Allure report shows about an e2e run, built so a failure reads without a re-run.

The pure modules (labels, parameters, timeline, environment) make report content from the
suite's own data; `attach` hands it to Allure and is a no-op when the run has no `--alluredir`.
"""
