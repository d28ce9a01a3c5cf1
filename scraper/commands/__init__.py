"""The commands: poll, backfill, refresh, check, feeds, the one-off commands, run reports and progress, the command line's grammar."""
