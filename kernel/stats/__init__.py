"""Statistics of bulk sends, read from delivery's counters and the providers' reports."""
