-- The pair-writer benchmark rows in SQL: the same values as PairLogBenchmark.record(_:baseMicros:)
-- in Sources/ShadowGatePairLog/PairLogBenchmark.swift (change both together; a test checks they agree).
-- psql variables: :rows (row count), :base (received_at of row 0, microseconds since the epoch).
-- Columns in PairCOPYFormat.columns order. No trailing semicolon: used inside COPY (...) TO STDOUT.
SELECT 'bench-' || i,
       '/v1/models/m:predict',
       timestamptz 'epoch' + (:base + i) * interval '1 microsecond',
       CASE WHEN i % 10 = 0 THEN 'learner' ELSE 'legacy' END,
       'shadow',
       0::float8,
       200,
       CASE WHEN i % 1000 = 0 THEN 503 ELSE 200 END,
       2000 + (i * 7919) % 8000,
       2000 + (i * 104729) % 12000,
       'ok',
       CASE WHEN i % 1000 = 0 THEN 'http_error' ELSE 'ok' END,
       NULL::text,
       NULL::text,
       '{"predictions": [0.' || lpad(((i * 7919) % 10000)::text, 4, '0') || ']}',
       CASE WHEN i % 1000 = 0 THEN NULL
            ELSE '{"predictions": [0.' || lpad(((i * 104729) % 10000)::text, 4, '0') || ']}' END,
       ((i * 7919) % 10000) / 10000::float8,
       CASE WHEN i % 1000 = 0 THEN NULL ELSE ((i * 104729) % 10000) / 10000::float8 END,
       NULL::text,
       NULL::text,
       'v1',
       'v2',
       NULL::text,
       '{"user_id": "u_' || lpad(((i * 7919) % 10000000)::text, 10, '0')
           || '", "session_id": "s_' || lpad(to_hex((i * 2654435761) % 281474976710656), 12, '0')
           || '", "country": "' || (ARRAY['DE','FR','NL','PL','IT'])[1 + i % 5]
           || '", "device": "' || (ARRAY['android','ios','web'])[1 + i % 3]
           || '", "app_ver": "5.12.' || (i % 20)
           || '", "n_orders_30d": ' || (i % 17)
           || ', "avg_basket_eur": ' || (i % 120) || '.' || lpad((i % 100)::text, 2, '0')
           || ', "last_seen_s": ' || ((i * 7919) % 864000)
           || ', "segment": "' || (ARRAY['new','returning','vip'])[1 + i % 3]
           || '", "score_prev": 0.' || lpad(((i * 104729) % 10000)::text, 4, '0') || '}',
       false,
       false
FROM generate_series(0::bigint, :rows - 1) AS i
