"""botengine: a rule-based WhatsApp bot engine for Wawp webhooks.

An event flows through the package in this order:

    receiver → auth → events (validate) → storage (dedupe + queue) → worker → rules → actions
"""

__version__ = "0.1.0"
