"""Provider events: what SendGrid (and any other registered provider) tells us about
mail we sent, in one neutral form, and what each event does (suppress, count).

``model``      the neutral :class:`~.model.ProviderEvent`; a mapping of names that ends in UNKNOWN
``providers``  the small interface a provider has, and the registry of those that are on
``sendgrid``   SendGrid's provider: verifying its requests and normalising its events
``actions``    recording events and acting on them: suppressions and unsubscribes

A provider is one module here (its class and ``from_settings``) and its line in
:data:`~.providers.PROVIDERS`; the web app's one route serves it at ``/webhooks/{name}``.
"""
