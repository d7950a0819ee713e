/// How a route's error level is shared among its gates.
///
/// Guarantee: with alpha_k = alpha / k for each of the k gates that make a confidence statement,
/// the chance that ANY of them ever passes wrongly (or, separately, ever fails wrongly) is at most
/// Σ alpha_k = alpha, by the union bound, whatever the dependence between the gates.
public enum AlphaSplit {
    /// alpha / gates, equally; alpha when there are no gates (nothing to split).
    public static func perGate(alpha: Double, gates: Int) -> Double {
        gates > 0 ? alpha / Double(gates) : alpha
    }
}
