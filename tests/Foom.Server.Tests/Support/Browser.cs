using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Foom.Server.Tests.Support;

/// <summary>
/// Debian's headless Chromium driven by Selenium through Debian's chromedriver, with a fresh
/// profile. A machine without them fails the test and says what to install (.ci/run does).
/// </summary>
public static class Browser
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    public static ChromeDriver Start(out string profile)
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(DriverPath))
            throw new InvalidOperationException($"the browser tests need Debian's chromium and chromium-driver ({ChromiumPath}, {DriverPath}): apt-get install chromium chromium-driver");
        profile = Path.Combine(Path.GetTempPath(), "foom-chromium-" + Guid.NewGuid().ToString("N"));
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            "--window-size=1400,1000", $"--user-data-dir={profile}");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
        // A click that submits a form returns before the next page is in on a loaded machine (CI
        // once found no #keys right after "revoke"): look for an element for a while before failing.
        driver.Manage().Timeouts().ImplicitWait = TimeSpan.FromSeconds(15);
        return driver;
    }

    /// <summary>Saves what the page looks like, for a person to look at after a run.</summary>
    public static void Screenshot(IWebDriver driver, string name)
    {
        var folder = Path.Combine(Path.GetTempPath(), "foom-screenshots");
        Directory.CreateDirectory(folder);
        ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(Path.Combine(folder, name + ".png"));
    }
}
