"""The web playground: static files the API serves at / and /web/."""
