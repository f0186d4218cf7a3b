"""One package per vendor API; the engine (server/*.py) never imports from here."""
