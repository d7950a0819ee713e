-- percentile_cont over a sample given as per-value counts (what compare_window reads).

-- percentile_cont(p) WITHIN GROUP (ORDER BY x) from per-value counts: `xs` the distinct values in
-- ascending order, `cum` the running count up to and including each, `ps` the fractions. The
-- same arithmetic as PostgreSQL's (rows floor/ceil of p·(n−1), x_lo + (pos − lo)·(x_hi − x_lo)),
-- so the results are bit for bit those of percentile_cont over the expanded sample. NULL when empty.
CREATE OR REPLACE FUNCTION shadowgate._percentiles_from_counts(xs double precision[], cum bigint[],
                                                               ps double precision[])
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m      int := coalesce(cardinality(xs), 0);
    n      bigint;
    pos    double precision;
    lo     bigint;
    hi     bigint;
    xlo    double precision;
    xhi    double precision;
    result double precision[] := '{}';
BEGIN
    IF m = 0 THEN RETURN NULL; END IF;
    n := cum[m];
    FOREACH pos IN ARRAY ps LOOP
        pos := pos * (n - 1);
        lo := floor(pos)::bigint;
        hi := ceil(pos)::bigint;
        xlo := shadowgate._value_at_rank(xs, cum, lo);
        IF lo = hi THEN
            result := result || xlo;
        ELSE
            xhi := shadowgate._value_at_rank(xs, cum, hi);
            result := result || (xlo + (pos - lo) * (xhi - xlo));
        END IF;
    END LOOP;
    RETURN result;
END
$$;

-- The value at 0-based rank r of the sample described by (xs, cum): binary search for the first
-- running count above r.
CREATE OR REPLACE FUNCTION shadowgate._value_at_rank(xs double precision[], cum bigint[], r bigint)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a int := 1;
    b int := cardinality(xs);
    c int;
BEGIN
    WHILE a < b LOOP
        c := (a + b) / 2;
        IF cum[c] > r THEN b := c; ELSE a := c + 1; END IF;
    END LOOP;
    RETURN xs[a];
END
$$;
