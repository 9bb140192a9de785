"""Documents customers read: quotes, as HTML and PDF."""
