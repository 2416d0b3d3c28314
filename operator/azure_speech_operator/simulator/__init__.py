"""Azure Speech endpoint API simulator (aiohttp), faithful to the official specs."""
