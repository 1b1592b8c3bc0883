using System.Text.Json;

namespace Foom.Server.Api.Models;

/// <summary>
/// A report as the server filed it: the head's figures (Matrix reports' totals are the sums of
/// their items), its issue and eigenvalue, and the suspect categories ([{category, size, count,
/// reason_kind, reason, severity}]). ?raw=true gives the upload itself instead.
/// </summary>
public sealed record ApiReport(string ReportId, string Source, string App, string Version, string? Platform, string? Device, string? User,
    string? Phone, string? OsVer, string? ExitReason, long ReceivedAt, long? FootprintBytes, long? LimitBytes, long LiveBytes, long LiveCount,
    string Issue, ApiEigenvalue Eigenvalue, JsonElement Suspects);
