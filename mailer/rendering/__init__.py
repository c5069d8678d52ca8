"""Rendering: articles to email-safe HTML and plain text, with calls-to-action."""
