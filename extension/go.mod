// This file marks extension/ as outside the Go module at the repository root,
// so that `go test ./...`, `go vet ./...` and staticcheck never descend into
// extension/node_modules (some npm packages ship Go files). The extension is
// TypeScript and has no Go code.
module github.com/openidentityagent/oia/extension

go 1.26
