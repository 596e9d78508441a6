"""SQL understanding: statement splitting, a pgvector-aware sqlglot dialect, lint rules
and the semantic fingerprint of a migration."""
