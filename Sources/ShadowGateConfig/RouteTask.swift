/// What a route's models predict, which decides how their answers are judged against labels.
public enum RouteTask: String, Sendable, Hashable, CaseIterable {
    /// Class labels (or a score against a threshold): accuracy, paired correctness.
    case classification
    /// Numbers compared with numeric labels: MAE, RMSE and paired error differences
    /// (`mae_delta_max`, `mse_delta_max`, which need `promotion.error_clip`).
    case regression
}
