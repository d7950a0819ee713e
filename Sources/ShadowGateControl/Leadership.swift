import Foundation
import LibPQ
import Logging

/// Executes ``LeadershipStateMachine`` on one control connection: acquires through
/// `shadowgate.acquire_leadership()` (session advisory lock + a new epoch stored in the session,
/// which the fence triggers check on every leader write), confirms through
/// `shadowgate.confirm_leadership()`.
///
/// Promises: ``mayAct(on:)`` returns the epoch only while the machine says this replica leads
/// (confirming first when due); it throws ``SteppedDown`` when leadership ended without a
/// connection error — the caller closes the session, which releases the lock. Owned by one thread.
public struct Leadership {
    public struct SteppedDown: Error, CustomStringConvertible {
        public var epoch: Int64
        public var reason: LeadershipStateMachine.StepDownReason
        public var description: String { "stepped down from epoch \(epoch): \(reason.rawValue)" }
    }

    public let role: String
    public let lockClassID: Int32
    public let lockObjectID: Int32
    public let identity: String
    private var machine: LeadershipStateMachine
    private let logger: Logger

    public init(role: String, lockClassID: Int32, lockObjectID: Int32, identity: String,
                timing: LeadershipStateMachine.Timing = .init(), logger: Logger) {
        self.role = role
        self.lockClassID = lockClassID
        self.lockObjectID = lockObjectID
        self.identity = identity
        self.machine = LeadershipStateMachine(timing: timing, now: .now)
        self.logger = logger
    }

    public var epoch: Int64? { machine.epoch }

    /// The epoch to act with now, or `nil` while following (the caller waits and asks again).
    public mutating func mayAct(on connection: PGConnection) throws -> Int64? {
        while true {
            let now = ContinuousClock.now
            switch machine.next(now: now) {
            case .wait:
                return nil
            case .act(let epoch):
                return epoch
            case .tryAcquire:
                let result = try connection.execute(
                    "SELECT shadowgate.acquire_leadership($1, $2, $3, $4, $5::interval)",
                    [role, String(lockClassID), String(lockObjectID), identity,
                     "\(Int(machine.timing.staleAfter.seconds * 1000)) milliseconds"])
                let epoch = result.scalar.flatMap { Int64($0) }
                machine.acquired(epoch: epoch, sentAt: now)
                if let epoch {
                    logger.notice("leadership acquired", metadata: ["role": "\(role)", "epoch": "\(epoch)", "identity": "\(identity)"])
                }
                if epoch == nil { return nil }
            case .confirm(let epoch):
                let still = try connection.execute("SELECT shadowgate.confirm_leadership($1, $2)", [role, String(epoch)]).scalar == "t"
                if let stepDown = machine.confirmed(still, sentAt: now) { throw steppedDown(stepDown) }
            case .stepDown(let epoch, let reason):
                throw steppedDown(.stepDown(epoch: epoch, reason: reason))
            }
        }
    }

    /// The caller lost (or closed) the session.
    public mutating func connectionLost() {
        if case .stepDown(let epoch, let reason)? = machine.connectionLost(now: .now) {
            logger.warning("leadership lost", metadata: ["role": "\(role)", "epoch": "\(epoch)", "reason": "\(reason.rawValue)"])
        }
    }

    private func steppedDown(_ action: LeadershipStateMachine.Action) -> SteppedDown {
        guard case .stepDown(let epoch, let reason) = action else { preconditionFailure("not a step-down") }
        logger.warning("stepping down", metadata: ["role": "\(role)", "epoch": "\(epoch)", "reason": "\(reason.rawValue)"])
        return SteppedDown(epoch: epoch, reason: reason)
    }
}
