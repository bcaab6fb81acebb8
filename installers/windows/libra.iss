; Inno Setup 6 script: Libra-<version>-windows-x86_64-setup.exe from the PyInstaller bundle.
; Built by installers\windows\build.ps1, which passes:
;   /DAppVersion=<libra_gui.__version__>  /DSourceDir=<...\dist\libra>  [/DSign /Slibra=<signtool command>]
; Step-by-step (and signing): installers/windows/README.md. Not buildable on Linux CI.

#ifndef AppVersion
  #error Pass /DAppVersion=x.y.z (build.ps1 does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\dist\libra"
#endif

[Setup]
; Never change AppId: Windows uses it to find the installed Libra for upgrades/uninstall.
AppId={{B0D9D50B-6D38-47D4-B5DA-D2AB9E8AA22C}
AppName=Libra
AppVersion={#AppVersion}
AppVerName=Libra {#AppVersion}
AppPublisher=Libra
DefaultDirName={autopf}\Libra
DefaultGroupName=Libra
DisableProgramGroupPage=yes
; Per-user install by default (no UAC prompt); an administrator may choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir=..\..\dist
OutputBaseFilename=Libra-{#AppVersion}-windows-x86_64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\libra.exe
UninstallDisplayName=Libra
; Libra must not run while its files are replaced or removed.
CloseApplications=yes
#ifdef Sign
; /Slibra="signtool sign /sha1 <thumbprint> /fd sha256 /tr <timestamp url> /td sha256 $f"
SignTool=libra
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole onedir bundle: libra.exe, _internal\ (Python, Qt, bundled_tor\windows-x86_64\).
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle wholesale: no stale library from an older version may linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Libra"; Filename: "{app}\libra.exe"
Name: "{autodesktop}\Libra"; Filename: "{app}\libra.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\libra.exe"; Description: "{cm:LaunchProgram,Libra}"; Flags: nowait postinstall skipifsilent

; The profile (%APPDATA%\Libra or the folder the user chose) is never deleted by the
; uninstaller: it holds the user's identity and history, encrypted.
