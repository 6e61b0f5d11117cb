"""Admin area: users, API keys and staff tokens, assignment rules, lost reasons."""
