-- Prisma cannot model this index: it lives only in SQL, and ci.yml protects it.
CREATE INDEX IF NOT EXISTS "idx_memories_embedding"
    ON "memories" USING ivfflat ("embedding" vector_cosine_ops) WITH (lists = 50);
