-- Kolmogorov–Smirnov: the two-sided one-sample distribution of D_n (scipy.stats.kstwo.sf) and
-- the two-sample test ks_2samp. Array conventions as every helper: NULL elements and NaN are
-- dropped; a side empty after that gives NULLs, never an error (see migrations/README.md).

-- Birnbaum–Tingey sum for Pr(D+_n >= x) (scipy.special.smirnov), in log space so it neither
-- overflows nor underflows for large n.
CREATE OR REPLACE FUNCTION shadowgate.smirnov(n bigint, x double precision) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate._matmul(a double precision[], b double precision[], m int) RETURNS double precision[]
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
CREATE OR REPLACE FUNCTION shadowgate._kolmogn_dmtw(n bigint, d double precision) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate._kolmogn_pelzgood(n bigint, x double precision) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate.kstwo_sf(x double precision, n bigint) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate.ks_2samp(a double precision[], b double precision[],
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
