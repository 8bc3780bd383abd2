"""Airflow integration: skipping operator, @task.skipwise, and the Signatures UI plugin."""
