-- Special functions under the statistics helpers: exp and pow without underflow errors, ln Γ,
-- the regularized upper incomplete gamma function and the chi-squared survival function.

-- PostgreSQL raises "value out of range: underflow" where C would return 0 (exp, *, ^), so
-- everything that may underflow goes through these or is flushed to 0 below ~1e-290 first.
CREATE OR REPLACE FUNCTION shadowgate._exp(x double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN x < -708 THEN 0 ELSE exp(x) END
$$;

-- b ^ e for b >= 0, e >= 0, 0 where the result would underflow.
CREATE OR REPLACE FUNCTION shadowgate._pow(b double precision, e double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN e = 0 THEN 1 WHEN b = 0 THEN 0 WHEN e * ln(b) < -708 THEN 0 ELSE b ^ e END
$$;

-- ln Γ(x) for x > 0: Stirling's series (to x^-15) for x >= 15, shifted by the recurrence
-- Γ(x) = Γ(x+k) / (x (x+1) … (x+k-1)) below that. Relative error ~1e-16.
CREATE OR REPLACE FUNCTION shadowgate.lgamma(x double precision) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate.gammaincc(a double precision, x double precision) RETURNS double precision
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
CREATE OR REPLACE FUNCTION shadowgate.chi2_sf(x double precision, dof double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN dof <= 0 THEN NULL WHEN x <= 0 THEN 1.0 ELSE shadowgate.gammaincc(dof / 2, x / 2) END
$$;
