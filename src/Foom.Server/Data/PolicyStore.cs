using System.Data.Common;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Dapper;

namespace Foom.Server.Data;

/// <summary>
/// An app's sampling policy (WeChat's monitor's operations: sample online users, 100 % for gray
/// versions and whitelisted users and devices). Without a saved policy every run uploads.
/// </summary>
public sealed class SamplingPolicy
{
    public string AppId { get; set; } = "";
    public double SampleRate { get; set; } = 1.0;
    public List<string> WhitelistUsers { get; set; } = [];
    public List<string> WhitelistDevices { get; set; } = [];
    public List<string> GrayVersions { get; set; } = [];
    public long UpdatedAt { get; set; }

    /// <summary>
    /// Whether this device (or user) uploads. The draw is a hash of app and device, so a device
    /// stays in or out of the sample from launch to launch instead of flickering.
    /// </summary>
    public (bool Upload, string Why) Decide(string? device, string? user, string? version)
    {
        if (user is not null && WhitelistUsers.Contains(user)) return (true, "whitelisted user");
        if (device is not null && WhitelistDevices.Contains(device)) return (true, "whitelisted device");
        if (version is not null && GrayVersions.Contains(version)) return (true, "gray version");
        if (SampleRate >= 1) return (true, "sample rate 100 %");
        if (SampleRate <= 0) return (false, "sample rate 0 %");
        var who = device ?? user ?? "";
        var draw = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(AppId + "\n" + who))) % 1_000_000 / 1_000_000.0;
        return draw < SampleRate ? (true, "sampled") : (false, "not sampled");
    }
}

public static class PolicyStore
{
    public static SamplingPolicy Get(DbConnection connection, string app)
    {
        var row = connection.QuerySingleOrDefault<(double Rate, string Users, string Devices, string Gray, long UpdatedAt)?>(
            "SELECT sample_rate, whitelist_users, whitelist_devices, gray_versions, updated_at FROM policies WHERE app_id = @app", new { app });
        if (row is null) return new SamplingPolicy { AppId = app };
        return new SamplingPolicy
        {
            AppId = app,
            SampleRate = row.Value.Rate,
            WhitelistUsers = Lines(row.Value.Users),
            WhitelistDevices = Lines(row.Value.Devices),
            GrayVersions = Lines(row.Value.Gray),
            UpdatedAt = row.Value.UpdatedAt,
        };
    }

    public static void Save(DbConnection connection, SamplingPolicy policy)
    {
        if (double.IsNaN(policy.SampleRate) || policy.SampleRate is < 0 or > 1)
            throw new ArgumentException("the sample rate must be between 0 and 1 (0 % and 100 %)");
        connection.Execute("""
            INSERT INTO policies (app_id, sample_rate, whitelist_users, whitelist_devices, gray_versions, updated_at)
            VALUES (@AppId, @SampleRate, @Users, @Devices, @Gray, @Now)
            ON CONFLICT (app_id) DO UPDATE SET sample_rate = excluded.sample_rate, whitelist_users = excluded.whitelist_users,
                whitelist_devices = excluded.whitelist_devices, gray_versions = excluded.gray_versions, updated_at = excluded.updated_at
            """, new
        {
            policy.AppId, policy.SampleRate,
            Users = string.Join('\n', policy.WhitelistUsers), Devices = string.Join('\n', policy.WhitelistDevices),
            Gray = string.Join('\n', policy.GrayVersions), Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        });
    }

    public static List<string> Lines(string? text) =>
        (text ?? "").Split(['\n', '\r', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
}
