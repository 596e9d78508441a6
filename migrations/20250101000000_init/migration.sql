-- Tzurot-like schema: personalities and their memories with 384-dim embeddings.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS "personalities" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "personalities_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX IF NOT EXISTS "personalities_name_key" ON "personalities" ("name");

CREATE TABLE IF NOT EXISTS "memories" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "persona_id" UUID NOT NULL,
    "personality_id" UUID NOT NULL REFERENCES "personalities" ("id") ON DELETE CASCADE,
    "content" TEXT NOT NULL,
    "embedding" vector(384),
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT "memories_pkey" PRIMARY KEY ("id")
);

CREATE INDEX IF NOT EXISTS "idx_memories_personality_created"
    ON "memories" ("personality_id", "created_at" DESC);
