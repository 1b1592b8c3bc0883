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

    /// <summary>Logs in to the pages of the server at <paramref name="baseUrl"/> with the test password.</summary>
    public static void LogIn(IWebDriver driver, string baseUrl)
    {
        driver.Navigate().GoToUrl(baseUrl + "/login");
        driver.FindElement(By.Id("password")).SendKeys(TestServer.AdminPassword);
        driver.FindElement(By.Id("login")).Click();
        driver.FindElement(By.Id("logout"));
    }

    /// <summary>Waits for a condition the page's scripts bring about (charts drawn, a transition ended).</summary>
    public static void WaitFor(IWebDriver driver, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited 60 s for {what} on {driver.Url}");
            Thread.Sleep(100);
        }
    }

    public static object? Script(IWebDriver driver, string script, params object[] arguments) => ((IJavaScriptExecutor)driver).ExecuteScript(script, arguments);

    /// <summary>Saves what the page looks like, for a person to look at after a run (the tests' screenshots folder, outside the repository).</summary>
    public static void Screenshot(IWebDriver driver, string name)
    {
        var folder = Path.Combine(Path.GetTempPath(), "foom-screenshots");
        Directory.CreateDirectory(folder);
        ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(Path.Combine(folder, name + ".png"));
    }
}
