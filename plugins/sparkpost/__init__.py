"""Email through SparkPost's Transmissions API."""
