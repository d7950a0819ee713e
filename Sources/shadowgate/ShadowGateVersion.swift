import ArgumentParser

/// The release this binary is (`shadowgate --version`, `shadowgate version`); bump it when tagging.
enum ShadowGateVersion {
    static let number = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of this binary.")

    func run() {
        print(ShadowGateVersion.number)
    }
}
