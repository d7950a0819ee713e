-- Comparing the two models in SQL: the labels table (ground truth arriving as feedback), pure
-- statistics helpers over arrays (KS, PSI, chi-squared) that match SciPy, and the comparison
-- functions compare(), compare_series() and feature_drift() built on them.
--
-- Conventions of every array helper: NULL elements and NaN are dropped; when a side is empty
-- after that, the result is NULL (never an error). See migrations/README.md, "Compare in SQL".

-- ---------------------------------------------------------------------------------------------
-- Labels
-- ---------------------------------------------------------------------------------------------

-- A number when `s` is a plain decimal/scientific number, else NULL (no exception).
CREATE FUNCTION shadowgate.parse_float(s text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN btrim(s) ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$'
                THEN btrim(s)::double precision END
$$;

-- Ground truth for a request, joined to shadowgate.pairs on request_id. Labels may arrive long
-- after the prediction; a later label for the same request replaces the earlier one (upsert).
CREATE TABLE shadowgate.labels (
    request_id   text             NOT NULL PRIMARY KEY,
    route        text             NOT NULL,
    label        text             NOT NULL,
    label_value  double precision,              -- the label as a number when it parses as one
    received_at  timestamptz      NOT NULL DEFAULT now()
);

COMMENT ON TABLE shadowgate.labels IS
    'Ground-truth labels (feedback) per request_id; label_value is the numeric label when label parses as a number.';

CREATE INDEX labels_route_received_at_idx ON shadowgate.labels (route, received_at);

-- Fills label_value from label when the writer did not (so COPY writers need not parse).
CREATE FUNCTION shadowgate.labels_fill_value() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.label_value IS NULL THEN
        NEW.label_value := shadowgate.parse_float(NEW.label);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER labels_fill_value BEFORE INSERT OR UPDATE ON shadowgate.labels
    FOR EACH ROW EXECUTE FUNCTION shadowgate.labels_fill_value();

-- ---------------------------------------------------------------------------------------------
-- Special functions
-- ---------------------------------------------------------------------------------------------

-- PostgreSQL raises "value out of range: underflow" where C would return 0 (exp, *, ^), so
-- everything that may underflow goes through these or is flushed to 0 below ~1e-290 first.
CREATE FUNCTION shadowgate._exp(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN x < -708 THEN 0 ELSE exp(x) END
$$;

-- b ^ e for b >= 0, e >= 0, 0 where the result would underflow.
CREATE FUNCTION shadowgate._pow(b double precision, e double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN e = 0 THEN 1 WHEN b = 0 THEN 0 WHEN e * ln(b) < -708 THEN 0 ELSE b ^ e END
$$;

-- ln Γ(x) for x > 0: Stirling's series (to x^-15) for x >= 15, shifted by the recurrence
-- Γ(x) = Γ(x+k) / (x (x+1) … (x+k-1)) below that. Relative error ~1e-16.
CREATE FUNCTION shadowgate.lgamma(x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    z     double precision := x;
    shift double precision := 1;
    r     double precision;
    r2    double precision;
BEGIN
    IF x <= 0 THEN RETURN NULL; END IF;
    IF x = 1 OR x = 2 THEN RETURN 0; END IF;
    WHILE z < 15 LOOP
        shift := shift * z;
        z := z + 1;
    END LOOP;
    r := 1 / z;
    r2 := r * r;
    RETURN (z - 0.5) * ln(z) - z + 0.91893853320467274178032973640562  -- ln √(2π)
         + r * (1.0/12 + r2 * (-1.0/360 + r2 * (1.0/1260 + r2 * (-1.0/1680 + r2 * (1.0/1188
         + r2 * (-691.0/360360 + r2 * (1.0/156 + r2 * (-3617.0/122400))))))))
         - ln(shift);
END
$$;

-- Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a): power series for P when
-- x < a + 1 (Q = 1 - P there, where Q is not small), modified Lentz continued fraction otherwise
-- (relative accuracy in the far tail). As Numerical Recipes gser/gcf, iterated to 1e-16.
CREATE FUNCTION shadowgate.gammaincc(a double precision, x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    lpre  double precision;
    s     double precision;
    term  double precision;
    ap    double precision;
    b     double precision;
    c     double precision;
    d     double precision;
    h     double precision;
    an    double precision;
    del   double precision;
    tiny  constant double precision := 1e-300;
BEGIN
    IF a <= 0 OR x < 0 OR x = 'NaN' OR a = 'NaN' THEN RETURN NULL; END IF;
    IF x = 0 THEN RETURN 1; END IF;
    IF x = 'Infinity' THEN RETURN 0; END IF;
    lpre := -x + a * ln(x) - shadowgate.lgamma(a);
    IF x < a + 1 THEN
        ap := a; term := 1 / a; s := term;
        FOR i IN 1..100000 LOOP
            ap := ap + 1;
            term := term * x / ap;
            s := s + term;
            EXIT WHEN abs(term) < abs(s) * 1e-17;
        END LOOP;
        RETURN greatest(0, 1 - s * shadowgate._exp(lpre));
    END IF;
    IF lpre < -690 THEN RETURN 0; END IF;  -- below ~1e-300: reported as 0
    b := x + 1 - a; c := 1 / tiny; d := 1 / b; h := d;
    FOR i IN 1..100000 LOOP
        an := -i * (i - a);
        b := b + 2;
        d := an * d + b; IF abs(d) < tiny THEN d := tiny; END IF;
        c := b + an / c; IF abs(c) < tiny THEN c := tiny; END IF;
        d := 1 / d;
        del := d * c;
        h := h * del;
        EXIT WHEN abs(del - 1) < 1e-16;
    END LOOP;
    RETURN exp(lpre) * h;
END
$$;

-- Survival function of the chi-squared distribution, scipy.stats.chi2.sf(x, dof).
CREATE FUNCTION shadowgate.chi2_sf(x double precision, dof double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN dof <= 0 THEN NULL WHEN x <= 0 THEN 1.0 ELSE shadowgate.gammaincc(dof / 2, x / 2) END
$$;

-- ---------------------------------------------------------------------------------------------
-- Kolmogorov–Smirnov: the two-sided one-sample distribution of D_n, scipy.stats.kstwo.sf
-- ---------------------------------------------------------------------------------------------

-- Birnbaum–Tingey sum for Pr(D+_n >= x) (scipy.special.smirnov), in log space so it neither
-- overflows nor underflows for large n.
CREATE FUNCTION shadowgate.smirnov(n bigint, x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    nn    bigint;
    lc    double precision := 0;   -- ln C(n, v)
    evn   double precision;
    omevn double precision;
    lt    double precision;
    p     double precision := 0;
BEGIN
    IF n <= 0 OR x < 0 OR x > 1 THEN RETURN NULL; END IF;
    IF x = 0 THEN RETURN 1; END IF;
    nn := floor(n * (1 - x))::bigint;
    FOR v IN 0..nn LOOP
        IF v > 0 THEN lc := lc + ln((n - v + 1)::double precision) - ln(v::double precision); END IF;
        evn := x + v::double precision / n;
        omevn := 1 - evn;
        IF omevn > 0 THEN
            lt := lc + (v - 1) * ln(evn) + (n - v) * ln(omevn);
            IF lt > -700 THEN p := p + exp(lt); END IF;
        ELSIF omevn = 0 AND v = n THEN
            p := p + shadowgate._exp(lc + (v - 1) * ln(evn));
        END IF;
    END LOOP;
    IF p < 1e-290 THEN RETURN 0; END IF;
    RETURN least(1, greatest(0, p * x));
END
$$;

-- Square matrix product of two m×m matrices stored row-major in flat 1-based arrays.
CREATE FUNCTION shadowgate._matmul(a double precision[], b double precision[], m int) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    r   double precision[] := array_fill(0::double precision, ARRAY[m * m]);
    s   double precision;
    ai  int;
BEGIN
    FOR i IN 0..m - 1 LOOP
        ai := i * m;
        FOR j IN 1..m LOOP
            s := 0;
            FOR k IN 0..m - 1 LOOP
                IF a[ai + k + 1] <> 0 AND b[k * m + j] <> 0 THEN
                    s := s + a[ai + k + 1] * b[k * m + j];
                END IF;
            END LOOP;
            r[ai + j] := CASE WHEN abs(s) < 1e-140 THEN 0 ELSE s END;  -- no underflow in the next product
        END LOOP;
    END LOOP;
    RETURN r;
END
$$;

-- Pr(D_n <= d) by Durbin's matrix (Marsaglia–Tsang–Wang), a port of scipy's _kolmogn_DMTW with
-- the same 2^128 rescaling. Exact up to rounding.
CREATE FUNCTION shadowgate._kolmogn_dmtw(n bigint, d double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    nd     double precision := n * d;
    k      int;
    h      double precision;
    m      int;
    v      double precision[];
    w      double precision[];
    hm     double precision[];
    hp     double precision[];
    fac    double precision := 1;
    tt     double precision;
    nn     bigint;
    expnt  bigint := 0;
    hexpnt bigint := 0;
    p      double precision;
    ep128  constant double precision := 2::double precision ^ 128;
    em128  constant double precision := 2::double precision ^ (-128);
BEGIN
    IF d >= 1 THEN RETURN 1; END IF;
    IF nd <= 0.5 THEN RETURN 0; END IF;
    k := ceil(nd)::int;
    h := k - nd;
    m := 2 * k - 1;
    v := array_fill(0::double precision, ARRAY[m]);
    w := array_fill(0::double precision, ARRAY[m]);
    FOR j IN 1..m LOOP
        v[j] := 1 - shadowgate._pow(h, j);
        w[j] := fac;
        fac := CASE WHEN fac < 1e-280 THEN 0 ELSE fac / j END;
        v[j] := CASE WHEN v[j] = 0 OR fac < 1e-280 THEN 0 ELSE v[j] * fac END;
    END LOOP;
    tt := shadowgate._pow(greatest(2 * h - 1, 0), m) - 2 * shadowgate._pow(h, m);
    v[m] := CASE WHEN fac < 1e-280 THEN 0 ELSE (1 + tt) * fac END;
    hm := array_fill(0::double precision, ARRAY[m * m]);
    -- H[r, c] (0-based) = w[r - c + 1] for c >= 1 and r >= c - 1; column 0 = v; last row = flip(v)
    FOR c IN 1..m - 1 LOOP
        FOR r IN c - 1..m - 1 LOOP
            hm[r * m + c + 1] := CASE WHEN w[r - c + 2] < 1e-140 THEN 0 ELSE w[r - c + 2] END;
        END LOOP;
    END LOOP;
    FOR i IN 1..m LOOP IF abs(v[i]) < 1e-140 THEN v[i] := 0; END IF; END LOOP;
    FOR r IN 0..m - 1 LOOP hm[r * m + 1] := v[r + 1]; END LOOP;
    FOR c IN 0..m - 1 LOOP hm[(m - 1) * m + c + 1] := v[m - c]; END LOOP;

    hp := NULL;  -- identity
    nn := n;
    WHILE nn > 0 LOOP
        IF nn % 2 = 1 THEN
            hp := CASE WHEN hp IS NULL THEN hm ELSE shadowgate._matmul(hp, hm, m) END;
            expnt := expnt + hexpnt;
        END IF;
        nn := nn / 2;
        EXIT WHEN nn = 0;
        hm := shadowgate._matmul(hm, hm, m);
        hexpnt := hexpnt * 2;
        IF abs(hm[(k - 1) * m + k]) > ep128 THEN
            FOR i IN 1..m * m LOOP
                hm[i] := CASE WHEN abs(hm[i]) < 1e-100 THEN 0 ELSE hm[i] / ep128 END;
            END LOOP;
            hexpnt := hexpnt + 128;
        END IF;
    END LOOP;
    p := hp[(k - 1) * m + k];
    FOR i IN 1..n LOOP
        p := i * p / n;
        IF abs(p) < em128 THEN
            p := p * ep128;
            expnt := expnt - 128;
        END IF;
    END LOOP;
    WHILE expnt < -512 AND p <> 0 LOOP
        p := CASE WHEN abs(p) < 1e-150 THEN 0 ELSE p * 2::double precision ^ (-512) END;
        expnt := expnt + 512;
    END LOOP;
    WHILE expnt > 512 LOOP p := p * 2::double precision ^ 512; expnt := expnt - 512; END LOOP;
    IF expnt < 0 AND abs(p) < 1e-150 THEN p := 0; END IF;
    IF expnt <> 0 AND p <> 0 THEN p := p * 2::double precision ^ expnt; END IF;
    RETURN least(1, greatest(0, p));
END
$$;

-- Pr(D_n <= x) by the Pelz–Good asymptotic series, a port of scipy's _kolmogn_PelzGood.
CREATE FUNCTION shadowgate._kolmogn_pelzgood(n bigint, x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    pi2   constant double precision := pi() ^ 2;
    pi4   constant double precision := pi() ^ 4;
    pi6   constant double precision := pi() ^ 6;
    s2pi  constant double precision := sqrt(2 * pi());
    z double precision; z2 double precision; z3 double precision; z4 double precision; z6 double precision;
    qlog double precision; q double precision; qp double precision;
    k1a double precision; k1b double precision;
    k2a double precision; k2b double precision; k2c double precision;
    k3a double precision; k3b double precision; k3c double precision; k3d double precision;
    c0 double precision := 0; c1 double precision := 0; c2 double precision := 0; c3 double precision := 0;
    maxk int;
    mm double precision; m2 double precision; m4 double precision; m6 double precision;
    k2extra double precision := 0; k3extra double precision := 0;
    sq3z double precision; kpi double precision; qk double precision;
BEGIN
    IF x <= 0 THEN RETURN 0; END IF;
    IF x >= 1 THEN RETURN 1; END IF;
    z := sqrt(n::double precision) * x;
    z2 := z * z; z3 := z2 * z; z4 := z2 * z2; z6 := z4 * z2;
    qlog := -pi2 / 8 / z2;
    IF qlog < -708 THEN RETURN 0; END IF;
    q := exp(qlog);
    k1a := -z2; k1b := pi2 / 4;
    k2a := 6 * z6 + 2 * z4; k2b := (2 * z4 - 5 * z2) * pi2 / 4; k2c := pi4 * (1 - 2 * z2) / 16;
    k3d := pi6 * (5 - 30 * z2) / 64; k3c := pi4 * (-60 * z2 + 212 * z4) / 16;
    k3b := pi2 * (135 * z4 - 96 * z6) / 4; k3a := -30 * z6 - 90 * z ^ 8;
    maxk := ceil(16 * z / pi())::int;
    FOR k IN REVERSE maxk..1 LOOP
        mm := 2 * k - 1; m2 := mm * mm; m4 := m2 * m2; m6 := m4 * m2;
        qp := shadowgate._exp(8 * k * qlog);
        IF qp < 1e-200 THEN qp := 0; END IF;
        c0 := CASE WHEN qp = 0 THEN 0 ELSE c0 * qp END + 1;
        c1 := CASE WHEN qp = 0 THEN 0 ELSE c1 * qp END + (k1a + k1b * m2);
        c2 := CASE WHEN qp = 0 THEN 0 ELSE c2 * qp END + (k2a + k2b * m2 + k2c * m4);
        c3 := CASE WHEN qp = 0 THEN 0 ELSE c3 * qp END + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
    END LOOP;
    c0 := c0 * q * s2pi / z;
    c1 := c1 * q * s2pi / (6 * z4);
    c2 := c2 * q * s2pi / (72 * z ^ 7);
    c3 := c3 * q * s2pi / (6480 * z ^ 10);
    qlog := -pi2 / 2 / z2;
    sq3z := sqrt(3::double precision) * z;
    FOR k IN REVERSE maxk..1 LOOP
        qk := shadowgate._exp(k * k * qlog);
        CONTINUE WHEN qk < 1e-200;
        kpi := pi() * k;
        k2extra := k2extra + k * k * qk;
        k3extra := k3extra + (sq3z + kpi) * (sq3z - kpi) * k * k * qk;
    END LOOP;
    c2 := c2 + k2extra * pi2 * s2pi / (-36 * z3);
    c3 := c3 + k3extra * pi2 * s2pi / (216 * z6);
    RETURN c0 + c1 / sqrt(n::double precision) + c2 / n + c3 / (n::double precision ^ 1.5);
END
$$;

-- Survival function Pr(D_n > x) of the two-sided one-sample KS statistic: scipy.stats.kstwo.sf
-- (scipy's _kolmogn with cdf=False, Simard & L'Ecuyer 2011). Same branches as scipy, except:
--   * where scipy uses Pomeranz's recursion (n <= 140, 0.754693 < n x² <= 4) this uses Durbin's
--     matrix — both are exact, they agree to rounding;
--   * where scipy uses Durbin's matrix for 1000 < n <= 100000 (n x^1.5 <= 1.4) this uses the
--     Pelz–Good series scipy uses above 100000: the largest difference is 3.2e-8 at n = 1000 and
--     falls fast with n (1e-10 at 5000), and it keeps the matrix at most 25×25 in PL/pgSQL.
CREATE FUNCTION shadowgate.kstwo_sf(x double precision, n bigint) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t     double precision;
    p     double precision;
    nx2   double precision;
    rn    double precision;
BEGIN
    IF n <= 0 OR x = 'NaN' THEN RETURN NULL; END IF;
    IF x >= 1 THEN RETURN 0; END IF;
    IF x <= 0 THEN RETURN 1; END IF;
    t := n * x;
    IF t <= 1 THEN  -- Ruben–Gambino
        IF t <= 0.5 THEN RETURN 1; END IF;
        IF n <= 140 THEN
            p := 0;  -- ln of the product, which may underflow
            FOR i IN 1..n LOOP p := p + ln(i * (1.0::double precision / n) * (2 * t - 1)); END LOOP;
            p := shadowgate._exp(p);
        ELSE
            rn := 1.0::double precision / n;
            p := shadowgate._exp(ln(n::double precision) / 2 - n + ln(2 * pi()) / 2
                     + rn * (((((((( -2.955065359477124183e-2 * (rn / n) + 6.4102564102564102564e-3) * (rn / n)
                         - 1.9175269175269175269e-3) * (rn / n) + 8.4175084175084175084e-4) * (rn / n)
                         - 5.952380952380952381e-4) * (rn / n) + 7.9365079365079365079e-4) * (rn / n)
                         - 2.7777777777777777778e-3) * (rn / n) + 8.3333333333333333333e-2))
                     + n * ln(2 * t - 1));
        END IF;
        RETURN least(1, greatest(0, 1 - p));
    END IF;
    IF t >= n - 1 THEN  -- Ruben–Gambino
        RETURN least(1, greatest(0, 2 * shadowgate._exp(n * ln(1 - x))));
    END IF;
    IF x >= 0.5 THEN
        RETURN least(1, greatest(0, 2 * shadowgate.smirnov(n, x)));
    END IF;
    nx2 := t * x;
    IF n <= 140 THEN
        IF nx2 <= 4 THEN
            RETURN least(1, greatest(0, 1 - shadowgate._kolmogn_dmtw(n, x)));
        END IF;
        RETURN least(1, greatest(0, 2 * shadowgate.smirnov(n, x)));
    END IF;
    IF nx2 >= 370 THEN RETURN 0; END IF;
    IF nx2 >= 2.2 THEN RETURN least(1, greatest(0, 2 * shadowgate.smirnov(n, x))); END IF;
    IF n <= 1000 AND n * x ^ 1.5 <= 1.4 THEN
        p := shadowgate._kolmogn_dmtw(n, x);
    ELSE
        p := shadowgate._kolmogn_pelzgood(n, x);
    END IF;
    RETURN least(1, greatest(0, 1 - p));
END
$$;

-- Two-sample two-sided KS test, scipy.stats.ks_2samp(a, b, method='asymp'):
-- d = max |F_a(x) - F_b(x)| over the pooled values (computed exactly as scipy does: counts
-- divided by n in float8), p_value = kstwo.sf(d, round(n1 n2 / (n1 + n2))) (round half to even).
CREATE FUNCTION shadowgate.ks_2samp(a double precision[], b double precision[],
                                    OUT d double precision, OUT p_value double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET work_mem = '128MB'  -- sorts of a million scores stay in memory
AS $$
DECLARE
    n1 bigint;
    n2 bigint;
    hi double precision;
    lo double precision;
    en double precision;
BEGIN
    n1 := coalesce(cardinality(array_remove(array_remove(a, NULL), 'NaN')), 0);
    n2 := coalesce(cardinality(array_remove(array_remove(b, NULL), 'NaN')), 0);
    IF n1 = 0 OR n2 = 0 THEN RETURN; END IF;
    -- the empirical CDFs at every pooled value: running counts over the pooled sort, ties
    -- included (numpy.searchsorted(sorted, x, side='right')), divided by n in float8 as scipy does.
    -- When the values repeat a lot (rounded scores, 0/1 predictions) they are first grouped by
    -- value, which gives the same D much faster; a sample of 20,000 values decides.
    IF (SELECT count(DISTINCT x) FROM (SELECT unnest(a[1:10000]) UNION ALL SELECT unnest(b[1:10000])) s(x))
       < 0.5 * (least(n1, 10000) + least(n2, 10000)) THEN
        SELECT max(c1::double precision / n1 - c2::double precision / n2),
               min(c1::double precision / n1 - c2::double precision / n2) INTO hi, lo
        FROM (SELECT sum(k1) OVER o AS c1, sum(k2) OVER o AS c2
              FROM (SELECT x, sum(w) AS k1, count(*) - sum(w) AS k2
                    FROM (SELECT x, 1 AS w FROM unnest(a) x WHERE x IS NOT NULL AND x <> 'NaN'
                          UNION ALL
                          SELECT x, 0 FROM unnest(b) x WHERE x IS NOT NULL AND x <> 'NaN') v
                    GROUP BY x) g
              WINDOW o AS (ORDER BY x)) c;
    ELSE
        SELECT max(c1::double precision / n1 - c2::double precision / n2),
               min(c1::double precision / n1 - c2::double precision / n2) INTO hi, lo
        FROM (SELECT sum(w) OVER o AS c1, count(*) OVER o - sum(w) OVER o AS c2
              FROM (SELECT x, 1 AS w FROM unnest(a) x WHERE x IS NOT NULL AND x <> 'NaN'
                    UNION ALL
                    SELECT x, 0 FROM unnest(b) x WHERE x IS NOT NULL AND x <> 'NaN') v
              WINDOW o AS (ORDER BY x)) c;
    END IF;
    -- as scipy: the larger of max(cdf1 - cdf2) and clip(-min(cdf1 - cdf2), 0, 1)
    lo := least(greatest(-lo, 0), 1);
    d := CASE WHEN lo > hi THEN lo ELSE hi END;
    en := greatest(n1, n2)::double precision * least(n1, n2) / (n1 + n2);
    -- n = round(en) is 0 when n1 = n2 = 1: scipy's p is NaN there, this gives NULL
    p_value := shadowgate.kstwo_sf(d, round(en)::bigint);
END
$$;

-- ---------------------------------------------------------------------------------------------
-- PSI
-- ---------------------------------------------------------------------------------------------

-- Population stability index of `current` against `reference` (numeric):
--   edges  = the distinct values of percentile_cont(i / buckets), i = 1 … buckets-1, over the
--            reference (linear interpolation, = numpy.quantile's default);
--   bucket = width_bucket(x, edges): the number of edges <= x, so buckets are (-inf, e1),
--            [e1, e2), …, [e_last, +inf) (tied deciles collapse into one edge);
--   psi    = Σ (c_i - r_i) · ln(c_i / r_i) over buckets, with r_i, c_i the fractions of each
--            sample in bucket i and a fraction of exactly 0 replaced by `eps` (default 1e-4).
-- NULL when either side is empty. Reference implementation: Scripts/stats/psi_reference.py.
CREATE FUNCTION shadowgate.psi(reference double precision[], current double precision[],
                               buckets int DEFAULT 10, eps double precision DEFAULT 1e-4)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET work_mem = '128MB'
AS $$
DECLARE
    nr     bigint;
    nc     bigint;
    qs     double precision[];
    edges  double precision[];
    result double precision;
BEGIN
    SELECT count(*), percentile_cont(ARRAY(SELECT i::double precision / buckets FROM generate_series(1, buckets - 1) i))
                         WITHIN GROUP (ORDER BY x)
      INTO nr, qs
      FROM unnest(reference) x WHERE x IS NOT NULL AND x <> 'NaN';
    SELECT count(*) INTO nc FROM unnest(current) x WHERE x IS NOT NULL AND x <> 'NaN';
    IF nr = 0 OR nc = 0 THEN RETURN NULL; END IF;
    edges := ARRAY(SELECT DISTINCT u FROM unnest(qs) u ORDER BY u);
    WITH rb AS (SELECT width_bucket(x, edges) AS b, count(*) AS k
                FROM unnest(reference) x WHERE x IS NOT NULL AND x <> 'NaN' GROUP BY 1),
         cb AS (SELECT width_bucket(x, edges) AS b, count(*) AS k
                FROM unnest(current) x WHERE x IS NOT NULL AND x <> 'NaN' GROUP BY 1),
         f AS (SELECT CASE WHEN rb.k IS NULL THEN eps ELSE rb.k::double precision / nr END AS pr,
                      CASE WHEN cb.k IS NULL THEN eps ELSE cb.k::double precision / nc END AS pc
               FROM rb FULL JOIN cb ON rb.b = cb.b)
    SELECT sum((pc - pr) * ln(pc / pr)) INTO result FROM f;
    RETURN result;
END
$$;

-- PSI over categories (strings): one bucket per category seen on either side, same formula and
-- eps rule as psi(). NULL when either side is empty.
CREATE FUNCTION shadowgate.psi_categorical(reference text[], current text[], eps double precision DEFAULT 1e-4)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH r AS (SELECT x, count(*) AS k FROM unnest(reference) x WHERE x IS NOT NULL GROUP BY x),
         c AS (SELECT x, count(*) AS k FROM unnest(current) x WHERE x IS NOT NULL GROUP BY x),
         n AS (SELECT (SELECT sum(k) FROM r) AS nr, (SELECT sum(k) FROM c) AS nc),
         f AS (SELECT CASE WHEN r.k IS NULL THEN eps ELSE r.k::double precision / n.nr END AS pr,
                      CASE WHEN c.k IS NULL THEN eps ELSE c.k::double precision / n.nc END AS pc
               FROM r FULL JOIN c ON r.x = c.x CROSS JOIN n)
    SELECT CASE WHEN n.nr IS NULL OR n.nc IS NULL THEN NULL
                ELSE (SELECT sum((pc - pr) * ln(pc / pr)) FROM f) END
    FROM n
$$;

-- ---------------------------------------------------------------------------------------------
-- Chi-squared
-- ---------------------------------------------------------------------------------------------

-- Pearson's chi-squared test of independence on a 2-D table of counts, as
-- scipy.stats.chi2_contingency(observed, correction): expected = row sum · column sum / total,
-- dof = (rows-1)(cols-1), Yates' continuity correction when dof = 1 and `correction` (scipy's
-- default is true), statistic 0 and p 1 when dof = 0. Where scipy raises (an expected count of
-- 0, a negative count, an empty or non-2-D table) this returns NULLs.
CREATE FUNCTION shadowgate.chi2_contingency(observed double precision[], correction boolean DEFAULT true,
                                            OUT statistic double precision, OUT p_value double precision,
                                            OUT dof int)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    nr    int;
    nc    int;
    rs    double precision[];
    cs    double precision[];
    tot   double precision := 0;
    o     double precision;
    e     double precision;
    df    double precision;
    s     double precision := 0;
BEGIN
    IF observed IS NULL OR array_ndims(observed) IS DISTINCT FROM 2 THEN RETURN; END IF;
    nr := array_length(observed, 1);
    nc := array_length(observed, 2);
    rs := array_fill(0::double precision, ARRAY[nr]);
    cs := array_fill(0::double precision, ARRAY[nc]);
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            o := observed[array_lower(observed, 1) + i - 1][array_lower(observed, 2) + j - 1];
            IF o IS NULL OR o < 0 OR o = 'NaN' THEN RETURN; END IF;
            rs[i] := rs[i] + o;
            cs[j] := cs[j] + o;
            tot := tot + o;
        END LOOP;
    END LOOP;
    IF tot = 0 THEN RETURN; END IF;
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            IF rs[i] * cs[j] = 0 THEN RETURN; END IF;
        END LOOP;
    END LOOP;
    dof := (nr - 1) * (nc - 1);
    IF dof = 0 THEN
        statistic := 0; p_value := 1; RETURN;
    END IF;
    FOR i IN 1..nr LOOP
        FOR j IN 1..nc LOOP
            o := observed[array_lower(observed, 1) + i - 1][array_lower(observed, 2) + j - 1];
            e := rs[i] * cs[j] / tot;
            IF dof = 1 AND correction THEN
                df := e - o;
                o := o + sign(df) * least(0.5, abs(df));
            END IF;
            s := s + (o - e) ^ 2 / e;
        END LOOP;
    END LOOP;
    statistic := s;
    p_value := shadowgate.chi2_sf(s, dof);
END
$$;

-- Chi-squared test between two samples of class labels: the 2×K table (row = sample, column =
-- each label seen in either sample) through chi2_contingency. NULLs when either side is empty.
CREATE FUNCTION shadowgate.chi2_2samp(a text[], b text[], correction boolean DEFAULT true,
                                      OUT statistic double precision, OUT p_value double precision,
                                      OUT dof int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH v AS (SELECT x, 1 AS s FROM unnest(a) x WHERE x IS NOT NULL
               UNION ALL SELECT x, 2 FROM unnest(b) x WHERE x IS NOT NULL),
         t AS (SELECT x, count(*) FILTER (WHERE s = 1)::double precision AS ka,
                         count(*) FILTER (WHERE s = 2)::double precision AS kb
               FROM v GROUP BY x)
    SELECT r.statistic, r.p_value, r.dof
    FROM (SELECT ARRAY[array_agg(ka ORDER BY x), array_agg(kb ORDER BY x)] AS tab FROM t) q
    CROSS JOIN LATERAL shadowgate.chi2_contingency(q.tab, correction) r
    WHERE (SELECT sum(ka) FROM t) > 0 AND (SELECT sum(kb) FROM t) > 0
$$;

-- Pearson's goodness-of-fit test, scipy.stats.chisquare(f_obs, f_exp): f_exp defaults to the
-- mean of f_obs; dof = k - 1. NULLs when empty or when an expected count is <= 0.
CREATE FUNCTION shadowgate.chisquare(f_obs double precision[], f_exp double precision[] DEFAULT NULL,
                                     OUT statistic double precision, OUT p_value double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k   int := coalesce(cardinality(f_obs), 0);
    mu  double precision;
    e   double precision;
    s   double precision := 0;
BEGIN
    IF k = 0 OR (f_exp IS NOT NULL AND cardinality(f_exp) <> k) THEN RETURN; END IF;
    SELECT avg(x) INTO mu FROM unnest(f_obs) x;
    FOR i IN 1..k LOOP
        e := CASE WHEN f_exp IS NULL THEN mu ELSE f_exp[i] END;
        IF e IS NULL OR e <= 0 OR f_obs[i] IS NULL THEN RETURN; END IF;
        s := s + (f_obs[i] - e) ^ 2 / e;
    END LOOP;
    statistic := s;
    p_value := CASE WHEN k > 1 THEN shadowgate.chi2_sf(s, k - 1) END;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Comparing the two models of a route
-- ---------------------------------------------------------------------------------------------

-- The comparison over pairs of `p_route` received in [p_from, p_to). Definitions (see README):
--   pairs               all pairs in the window; labelled_pairs: those with a row in labels.
--   agreement           over pairs where both outcomes are 'ok': same label when both models
--                       gave a label, else |legacy_score - learner_score| < tolerance when both
--                       gave a score; pairs with neither are not counted.
--   mean_abs_score_diff avg |legacy_score - learner_score| where both scores exist.
--   *_accuracy          over labelled pairs where that model's outcome is 'ok': its label equals
--                       the true label when it gave a label; else, for a score and a numeric
--                       label, (score >= threshold) = (label_value >= threshold). accuracy_delta
--                       is learner - legacy.
--   ks_d, ks_p          ks_2samp(legacy scores, learner scores) over 'ok' outcomes.
--   psi                 psi(reference = legacy scores, current = learner scores).
--   chi2, chi2_p        chi2_2samp of the predicted classes (the label, else '1'/'0' by the
--                       score against threshold), scipy's default Yates correction at dof 1.
--   *_p50/95/99_ms      percentile_cont of the latency (ms) of calls made (outcome <> 'skipped').
--   *_error_rate        share of calls made with outcome http_error, unreachable or unparsed;
--   *_timeout_rate      share with outcome timeout.
-- Whatever cannot be computed (empty window, one side without scores, …) is NULL.
CREATE FUNCTION shadowgate.compare_window(p_route text, p_from timestamptz, p_to timestamptz,
                                          tolerance double precision DEFAULT 0.05,
                                          threshold double precision DEFAULT 0.5)
RETURNS TABLE (
    pairs bigint, labelled_pairs bigint, agreement double precision, mean_abs_score_diff double precision,
    legacy_accuracy double precision, learner_accuracy double precision, accuracy_delta double precision,
    ks_d double precision, ks_p double precision, psi double precision,
    chi2 double precision, chi2_p double precision,
    legacy_p50_ms double precision, legacy_p95_ms double precision, legacy_p99_ms double precision,
    learner_p50_ms double precision, learner_p95_ms double precision, learner_p99_ms double precision,
    legacy_error_rate double precision, learner_error_rate double precision,
    legacy_timeout_rate double precision, learner_timeout_rate double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET work_mem = '128MB'  -- the latency percentiles sort the window in memory
AS $$
    WITH w AS (
        SELECT p.legacy_outcome AS lo, p.learner_outcome AS ro,
               p.legacy_score AS ls, p.learner_score AS rs,
               p.legacy_label AS ll, p.learner_label AS rl,
               p.legacy_latency_us AS lt, p.learner_latency_us AS rt,
               l.label AS tl, l.label_value AS tv
        FROM shadowgate.pairs p
        LEFT JOIN shadowgate.labels l ON l.request_id = p.request_id
        WHERE p.route = p_route AND p.received_at >= p_from AND p.received_at < p_to
    ), j AS (
        SELECT *,
               CASE WHEN lo = 'ok' AND ro = 'ok' THEN
                   CASE WHEN ll IS NOT NULL AND rl IS NOT NULL THEN ll = rl
                        WHEN ls IS NOT NULL AND rs IS NOT NULL THEN abs(ls - rs) < tolerance END
               END AS agree,
               CASE WHEN tl IS NULL OR lo <> 'ok' THEN NULL
                    WHEN ll IS NOT NULL THEN ll = tl
                    WHEN ls IS NOT NULL AND tv IS NOT NULL THEN (ls >= threshold) = (tv >= threshold) END AS lc,
               CASE WHEN tl IS NULL OR ro <> 'ok' THEN NULL
                    WHEN rl IS NOT NULL THEN rl = tl
                    WHEN rs IS NOT NULL AND tv IS NOT NULL THEN (rs >= threshold) = (tv >= threshold) END AS rc,
               CASE WHEN lo = 'ok' THEN coalesce(ll, CASE WHEN ls >= threshold THEN '1' WHEN ls < threshold THEN '0' END) END AS lk,
               CASE WHEN ro = 'ok' THEN coalesce(rl, CASE WHEN rs >= threshold THEN '1' WHEN rs < threshold THEN '0' END) END AS rk
        FROM w
    ), a AS (
        SELECT count(*) AS pairs,
               count(tl) AS labelled_pairs,
               avg(agree::int::double precision) AS agreement,
               avg(abs(ls - rs)) AS mean_abs_score_diff,
               avg(lc::int::double precision) AS legacy_accuracy,
               avg(rc::int::double precision) AS learner_accuracy,
               array_agg(ls) FILTER (WHERE lo = 'ok' AND ls IS NOT NULL) AS lsa,
               array_agg(rs) FILTER (WHERE ro = 'ok' AND rs IS NOT NULL) AS rsa,
               array_agg(lk) FILTER (WHERE lk IS NOT NULL) AS lka,
               array_agg(rk) FILTER (WHERE rk IS NOT NULL) AS rka,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY lt / 1000.0::double precision)
                   FILTER (WHERE lo <> 'skipped' AND lt IS NOT NULL) AS lq,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY rt / 1000.0::double precision)
                   FILTER (WHERE ro <> 'skipped' AND rt IS NOT NULL) AS rq,
               avg((lo IN ('http_error', 'unreachable', 'unparsed'))::int::double precision) FILTER (WHERE lo <> 'skipped') AS ler,
               avg((ro IN ('http_error', 'unreachable', 'unparsed'))::int::double precision) FILTER (WHERE ro <> 'skipped') AS rer,
               avg((lo = 'timeout')::int::double precision) FILTER (WHERE lo <> 'skipped') AS ltr,
               avg((ro = 'timeout')::int::double precision) FILTER (WHERE ro <> 'skipped') AS rtr
        FROM j
    )
    SELECT a.pairs, a.labelled_pairs, a.agreement, a.mean_abs_score_diff,
           a.legacy_accuracy, a.learner_accuracy, a.learner_accuracy - a.legacy_accuracy,
           k.d, k.p_value, shadowgate.psi(a.lsa, a.rsa),
           c.statistic, c.p_value,
           a.lq[1], a.lq[2], a.lq[3], a.rq[1], a.rq[2], a.rq[3],
           a.ler, a.rer, a.ltr, a.rtr
    FROM a
    LEFT JOIN LATERAL shadowgate.ks_2samp(a.lsa, a.rsa) k ON true
    LEFT JOIN LATERAL shadowgate.chi2_2samp(a.lka, a.rka) c ON true
$$;

-- compare_window over the last `since` (received_at >= now() - since).
CREATE FUNCTION shadowgate.compare(route text, since interval,
                                   tolerance double precision DEFAULT 0.05,
                                   threshold double precision DEFAULT 0.5)
RETURNS TABLE (
    pairs bigint, labelled_pairs bigint, agreement double precision, mean_abs_score_diff double precision,
    legacy_accuracy double precision, learner_accuracy double precision, accuracy_delta double precision,
    ks_d double precision, ks_p double precision, psi double precision,
    chi2 double precision, chi2_p double precision,
    legacy_p50_ms double precision, legacy_p95_ms double precision, legacy_p99_ms double precision,
    learner_p50_ms double precision, learner_p95_ms double precision, learner_p99_ms double precision,
    legacy_error_rate double precision, learner_error_rate double precision,
    legacy_timeout_rate double precision, learner_timeout_rate double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM shadowgate.compare_window(route, now() - since, 'infinity', tolerance, threshold)
$$;

-- The same metrics per time bucket over the last `since`: buckets are aligned with date_bin
-- (origin 2000-01-01 00:00 UTC), the first one is cut at now() - since, and empty buckets are
-- returned too (pairs = 0, NULL metrics), oldest first. `bucket` must not contain months.
CREATE FUNCTION shadowgate.compare_series(route text, since interval, bucket interval,
                                          tolerance double precision DEFAULT 0.05,
                                          threshold double precision DEFAULT 0.5)
RETURNS TABLE (
    bucket_start timestamptz,
    pairs bigint, labelled_pairs bigint, agreement double precision, mean_abs_score_diff double precision,
    legacy_accuracy double precision, learner_accuracy double precision, accuracy_delta double precision,
    ks_d double precision, ks_p double precision, psi double precision,
    chi2 double precision, chi2_p double precision,
    legacy_p50_ms double precision, legacy_p95_ms double precision, legacy_p99_ms double precision,
    learner_p50_ms double precision, learner_p95_ms double precision, learner_p99_ms double precision,
    legacy_error_rate double precision, learner_error_rate double precision,
    legacy_timeout_rate double precision, learner_timeout_rate double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.s, c.*
    FROM generate_series(date_bin(bucket, now() - since, timestamptz '2000-01-01 00:00:00+00'), now(), bucket) AS b(s)
    CROSS JOIN LATERAL shadowgate.compare_window(route, greatest(b.s, now() - since), b.s + bucket,
                                                 tolerance, threshold) c
    ORDER BY b.s
$$;

-- ---------------------------------------------------------------------------------------------
-- Data drift per input feature
-- ---------------------------------------------------------------------------------------------

-- The input features of one pair (`pairs.features`) as (name, idx, value) rows:
--   OIP v2 inputs [{"name": "x", "shape": [...], "data": [...]}, ...]: name = input name;
--     nested data rows [[..], [..]] give idx = position in the row; flat data gives
--     idx = position modulo the last shape dimension when the shape has 2+ dimensions
--     (a batch of rows), else the position;
--   KServe v1 instances [[..], [..]] (rows): name NULL, idx = column; rows that are objects
--     give name = key, idx NULL; scalar rows give idx 0.
-- A wrapping object {"inputs": …} / {"instances": …} is unwrapped.
CREATE FUNCTION shadowgate.feature_values(features jsonb)
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
CREATE FUNCTION shadowgate.feature_drift(route text, reference tstzrange, current tstzrange)
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
