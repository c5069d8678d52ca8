"""Provider events: what SendGrid (and any other registered provider) tells us about
mail we sent, in one neutral form, and what each event does (suppress, count).

``sendgrid``   verifying SendGrid's webhook requests and normalising their events
``actions``    recording events and acting on them: suppressions and unsubscribes
"""
