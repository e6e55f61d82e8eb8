import Foundation

// stdout is block-buffered when it is a pipe; the commands write through
// their own buffers and flush at the end, so nothing is lost on exit().
exit(CommandRouter.main(Array(CommandLine.arguments.dropFirst())))
