"""Reviewer web pages (server-rendered, same app as the API): `pages.router` and its static files."""
