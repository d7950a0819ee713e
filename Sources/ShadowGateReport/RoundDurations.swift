/// Durations people read as round, in seconds: where time ticks fall and how wide buckets are.
///
/// Up to a day each divides the next larger unit (a minute, an hour, a day), so its multiples
/// counted from the epoch land on :00, :15, :30, whole hours and UTC midnights; beyond a day,
/// whole days (2, 7 and 30 of them).
enum RoundDurations {
    static let seconds: [Double] = [
        1, 2, 5, 10, 15, 30,
        60, 120, 300, 600, 900, 1800,
        3600, 7200, 10_800, 21_600, 43_200,
        86_400, 172_800, 604_800, 2_592_000,
    ]
}
