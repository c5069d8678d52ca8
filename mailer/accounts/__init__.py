"""The admin's accounts: passwords (argon2), sign-ins and their limits, roles, and the
audit log of what each account changed. The web admin (mailer.web.admin) and the
``mailer users`` commands are its two faces."""
