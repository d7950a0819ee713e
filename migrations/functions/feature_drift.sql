-- Data drift per input feature.

-- The input features of one pair (`pairs.features`) as (name, idx, value) rows:
--   OIP v2 inputs [{"name": "x", "shape": [...], "data": [...]}, ...]: name = input name;
--     nested data rows [[..], [..]] give idx = position in the row; flat data gives
--     idx = position modulo the last shape dimension when the shape has 2+ dimensions
--     (a batch of rows), else the position;
--   KServe v1 instances [[..], [..]] (rows): name NULL, idx = column; rows that are objects
--     give name = key, idx NULL; scalar rows give idx 0.
-- A wrapping object {"inputs": …} / {"instances": …} is unwrapped.
CREATE OR REPLACE FUNCTION shadowgate.feature_values(features jsonb)
RETURNS TABLE (name text, idx int, value jsonb)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH f AS (
        SELECT CASE WHEN jsonb_typeof(features) = 'object'
                    THEN coalesce(features -> 'inputs', features -> 'instances') ELSE features END AS f
    ), e AS (
        SELECT x FROM f, jsonb_array_elements(CASE WHEN jsonb_typeof(f.f) = 'array' THEN f.f ELSE '[]' END) x
    )
    -- OIP v2, nested data rows
    SELECT x ->> 'name', (j - 1)::int, v
    FROM e, jsonb_array_elements(CASE WHEN jsonb_typeof(x -> 'data') = 'array' THEN x -> 'data' ELSE '[]' END) d(r),
         jsonb_array_elements(r) WITH ORDINALITY c(v, j)
    WHERE jsonb_typeof(x) = 'object' AND x ? 'name' AND x ? 'data' AND jsonb_typeof(r) = 'array'
    UNION ALL
    -- OIP v2, flat data
    SELECT x ->> 'name',
           CASE WHEN jsonb_typeof(x -> 'shape') = 'array' AND jsonb_array_length(x -> 'shape') >= 2
                     AND jsonb_typeof(x -> 'shape' -> -1) = 'number' AND (x -> 'shape' ->> -1)::numeric > 0
                THEN ((i - 1) % (x -> 'shape' ->> -1)::numeric)::int ELSE (i - 1)::int END,
           r
    FROM e, jsonb_array_elements(CASE WHEN jsonb_typeof(x -> 'data') = 'array' THEN x -> 'data' ELSE '[]' END)
            WITH ORDINALITY d(r, i)
    WHERE jsonb_typeof(x) = 'object' AND x ? 'name' AND x ? 'data' AND jsonb_typeof(r) <> 'array'
    UNION ALL
    -- KServe v1 rows
    SELECT NULL, (j - 1)::int, v
    FROM e, jsonb_array_elements(x) WITH ORDINALITY c(v, j)
    WHERE jsonb_typeof(x) = 'array'
    UNION ALL
    SELECT k, NULL, v
    FROM e, jsonb_each(x) AS o(k, v)
    WHERE jsonb_typeof(x) = 'object' AND NOT (x ? 'name' AND x ? 'data')
    UNION ALL
    SELECT NULL, 0, x FROM e WHERE jsonb_typeof(x) NOT IN ('array', 'object')
$$;

-- Data drift of route's input features between two time ranges, one row per feature
-- (`name[idx]` for OIP v2 inputs, the column index for KServe v1 rows, the key for object rows).
-- A feature is numeric when every non-null value of it (in both ranges) is a JSON number:
-- then KS (ks_d, ks_p) and psi() over reference deciles; otherwise categorical (values as text):
-- then chi2_2samp (chi2, chi2_p, dof) and psi_categorical(). Statistics of a feature missing
-- from one range are NULL. Pairs without captured features are ignored.
CREATE OR REPLACE FUNCTION shadowgate.feature_drift(route text, reference tstzrange, current tstzrange)
RETURNS TABLE (feature text, kind text, reference_n bigint, current_n bigint,
               ks_d double precision, ks_p double precision,
               chi2 double precision, chi2_p double precision, chi2_dof int,
               psi double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH v AS (
        SELECT p.received_at <@ reference AS in_ref, p.received_at <@ current AS in_cur,
               fv.name, fv.idx, fv.value
        FROM shadowgate.pairs p
        CROSS JOIN LATERAL shadowgate.feature_values(p.features) fv
        WHERE p.route = feature_drift.route AND p.features IS NOT NULL
          AND p.received_at >= least(coalesce(lower(reference), '-infinity'), coalesce(lower(current), '-infinity'))
          AND p.received_at <= greatest(coalesce(upper(reference), 'infinity'), coalesce(upper(current), 'infinity'))
          AND (p.received_at <@ reference OR p.received_at <@ current)
          AND jsonb_typeof(fv.value) <> 'null'
    ), g AS (
        SELECT name, idx,
               bool_and(jsonb_typeof(value) = 'number') AS is_num,
               count(*) FILTER (WHERE in_ref) AS nr,
               count(*) FILTER (WHERE in_cur) AS nc,
               array_agg(CASE WHEN jsonb_typeof(value) = 'number' THEN value::text::double precision END)
                   FILTER (WHERE in_ref) AS rn,
               array_agg(CASE WHEN jsonb_typeof(value) = 'number' THEN value::text::double precision END)
                   FILTER (WHERE in_cur) AS cn,
               array_agg(CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value::text END)
                   FILTER (WHERE in_ref) AS rt,
               array_agg(CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value::text END)
                   FILTER (WHERE in_cur) AS ct
        FROM v GROUP BY name, idx
    )
    SELECT CASE WHEN g.name IS NULL THEN g.idx::text
                WHEN g.idx IS NULL THEN g.name
                ELSE g.name || '[' || g.idx || ']' END,
           CASE WHEN g.is_num THEN 'numeric' ELSE 'categorical' END,
           g.nr, g.nc,
           k.d, k.p_value, c.statistic, c.p_value, c.dof,
           CASE WHEN g.is_num THEN shadowgate.psi(g.rn, g.cn) ELSE shadowgate.psi_categorical(g.rt, g.ct) END
    FROM g
    LEFT JOIN LATERAL (SELECT * FROM shadowgate.ks_2samp(g.rn, g.cn) WHERE g.is_num) k ON true
    LEFT JOIN LATERAL (SELECT * FROM shadowgate.chi2_2samp(g.rt, g.ct) WHERE NOT g.is_num) c ON true
    ORDER BY g.name NULLS FIRST, g.idx NULLS FIRST
$$;
