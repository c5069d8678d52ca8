"""Lists, subscribers, subscriptions and the suppression list; CSV import and export."""
