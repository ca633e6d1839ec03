"""The morning brief: rules that find what staff must know after a night (rules.py), the
message composed from them (brief.py), its delivery by email and webhook (deliver.py), and the
audit kept in the store (storage/alerts.py). docs/alerts.md."""
