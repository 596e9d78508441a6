-- The memory retrieval query of the application (psycopg named parameters):
-- the k memories of one personality closest to the query embedding, by cosine
-- distance, which idx_memories_embedding (ivfflat, vector_cosine_ops) serves.
SELECT id,
       content,
       embedding <=> %(embedding)s AS distance,
       1 - (embedding <=> %(embedding)s) AS similarity
FROM memories
WHERE personality_id = %(personality_id)s
  AND embedding IS NOT NULL
ORDER BY embedding <=> %(embedding)s
LIMIT %(limit)s;
