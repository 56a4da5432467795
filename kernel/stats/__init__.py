"""Statistics of bulk sends, campaigns and automations, read from delivery's counters, the providers' reports
and the automations' entries and step facts."""
