import Foundation
import PackagePlugin

/// Writes the commit (and whether tracked files differed from it) that the `BuildStamp` target is
/// compiled from, so run.json and eval files can say which source built the binary, not only
/// which checkout it was started in. The command reruns when any source file of the package,
/// Package.swift, or git's HEAD, index or current branch ref changes; outside a git checkout the
/// commit is "unknown".
@main
struct SourceStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "SourceStamp.swift")
        let root = context.package.directoryURL
        var inputs = [root.appending(path: "Package.swift")]
        for case let module as SourceModuleTarget in context.package.targets {
            inputs += module.sourceFiles.map(\.url)
        }
        inputs += gitFiles(root: root)
        // --no-optional-locks: git status must not rewrite the index, one of the inputs.
        let script = """
            commit=$(git -C "$1" rev-parse HEAD 2>/dev/null || echo unknown)
            changed=$(git --no-optional-locks -C "$1" status --porcelain --untracked-files=no 2>/dev/null | head -c 1)
            if [ -n "$changed" ]; then dirty=true; else dirty=false; fi
            text="let sourceCommit = \\"$commit\\"
            let sourceDirty = $dirty"
            [ "$(cat "$2" 2>/dev/null)" = "$text" ] || printf '%s\\n' "$text" > "$2"
            touch "$2"
            """
        return [
            .buildCommand(
                displayName: "Stamping the source commit into \(target.name)", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "stamp", root.path, output.path], inputFiles: inputs, outputFiles: [output])
        ]
    }

    /// HEAD, the index and the ref HEAD points at (a worktree's `.git` file is followed).
    func gitFiles(root: URL) -> [URL] {
        var gitDirectory = root.appending(path: ".git")
        if let pointer = try? String(contentsOf: gitDirectory, encoding: .utf8), pointer.hasPrefix("gitdir: ") {
            let path = pointer.dropFirst("gitdir: ".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDirectory = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appending(path: path)
        }
        var files = ["HEAD", "index", "packed-refs"].map { gitDirectory.appending(path: $0) }
        if let head = try? String(contentsOf: gitDirectory.appending(path: "HEAD"), encoding: .utf8), head.hasPrefix("ref: ") {
            files.append(gitDirectory.appending(path: head.dropFirst("ref: ".count).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return files.filter { FileManager.default.fileExists(atPath: $0.path) }
    }
}
