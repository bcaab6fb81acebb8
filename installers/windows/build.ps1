# Build Libra-<version>-windows-x86_64-setup.exe on Windows 10/11 x64 (one command):
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\build.ps1 `
#       -Keyring C:\keys\tor-browser-developers.asc [-SignThumbprint <certificate SHA-1>]
#
# Needs: Python 3.11 (python.org, "py" launcher), Gpg4win (gpg.exe on PATH), Inno Setup 6,
# and for signing the Windows SDK's signtool.exe. Step by step: installers/windows/README.md.
# This script cannot be run or tested on the Linux CI; it is kept in step with
# installers/ci_build.sh (same fetch, spec and self-test).
param(
    [string]$Keyring = $env:LIBRA_TOR_KEYRING,
    [string]$SignThumbprint = $env:LIBRA_SIGN_THUMBPRINT,
    [string]$TimestampUrl = "http://timestamp.digicert.com",
    [string]$PythonVersion = "3.11"
)
$ErrorActionPreference = "Stop"
Set-Location (Resolve-Path "$PSScriptRoot\..\..")
function Check($what) { if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" } }

$version = (Select-String -Path libra_gui\__init__.py -Pattern '^__version__ = "(.*)"$').Matches[0].Groups[1].Value
Write-Host "== Libra $version for Windows"

# 1. A clean build venv with the pinned dependencies and PyInstaller (the `bundle` extra).
py "-$PythonVersion" -m venv build\windows\venv; Check "venv"
$py = "build\windows\venv\Scripts\python.exe"
& $py -m pip install --upgrade -c constraints.txt ".[bundle]"; Check "pip install"

# 2. The pinned, signature-checked Tor Expert Bundle in bundled_tor\windows-x86_64\.
& $py bundled_tor\fetch.py verify windows-x86_64
if ($LASTEXITCODE -ne 0) {
    if (-not $Keyring) { throw "Pass -Keyring with the Tor Browser Developers key (bundled_tor\README.md)" }
    & $py bundled_tor\fetch.py fetch expert-windows-x86_64 --keyring $Keyring; Check "fetch tor"
}

# 3. The PyInstaller bundle.
& $py -m PyInstaller --noconfirm --clean --distpath build\windows\dist --workpath build\windows\work installers\libra.spec
Check "PyInstaller"
$exe = "build\windows\dist\libra\libra.exe"

# 4. Its self-test (a windowed exe has no console: the report goes to %TEMP%).
$env:QT_QPA_PLATFORM = "offscreen"
$run = Start-Process -FilePath $exe -ArgumentList "--self-test" -Wait -PassThru
Remove-Item Env:QT_QPA_PLATFORM
Get-Content "$env:TEMP\libra-self-test.txt"
if ($run.ExitCode -ne 0) { throw "libra --self-test failed" }

# 5. Sign libra.exe, then build (and sign) the installer. tor.exe and the transports keep the
#    Tor Project's own signatures: re-signing them would break MANIFEST.json's hashes.
$iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
$defines = @("/DAppVersion=$version", "/DSourceDir=$(Resolve-Path build\windows\dist\libra)")
if ($SignThumbprint) {
    $sign = "signtool sign /sha1 $SignThumbprint /fd sha256 /tr $TimestampUrl /td sha256"
    Invoke-Expression "$sign `"$exe`""; Check "signtool"
    $defines += @("/DSign", "/Slibra=$sign `$f")
} else {
    Write-Warning "No -SignThumbprint: the installer is unsigned (SmartScreen will warn users)."
}
& $iscc @defines installers\windows\libra.iss; Check "Inno Setup"
Get-ChildItem dist\Libra-$version-windows-x86_64-setup.exe
