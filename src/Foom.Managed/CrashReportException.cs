namespace Foom.Managed;

/// <summary>A .NET crash report that cannot be read: the message names the file and what was wrong.</summary>
public sealed class CrashReportException(string message, Exception? inner = null) : Exception(message, inner);
