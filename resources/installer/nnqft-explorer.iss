; Inno Setup 6 script for NN-QFT Explorer (Windows). build_installer.py runs it on Windows after PyInstaller:
;   iscc /DAppVersion=X.Y.Z /DSourceDir=dist\nnqft /DOutputDir=dist /DIconFile=build\icons\nnqft-explorer.ico
;        /DOutputBaseFilename=nnqft-explorer-X.Y.Z-windows-x64-setup nnqft-explorer.iss
; The version comes from pyproject.toml through /DAppVersion; names must match build_installer.py (a test checks).

#define AppName "NNQFT Explorer"
#define ExeName "nnqft.exe"
#ifndef AppVersion
  #error Pass the version from pyproject.toml: iscc /DAppVersion=X.Y.Z (build_installer.py does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\nnqft"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\nnqft-explorer.ico"
#endif
#ifndef OutputBaseFilename
  #define OutputBaseFilename "nnqft-explorer-" + AppVersion + "-windows-x64-setup"
#endif

[Setup]
AppId={{D376D1D1-96E8-4BF5-B47B-9811E0658367}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=NN-QFT Explorer developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBaseFilename}
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#ExeName}
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller onedir folder: nnqft.exe and _internal\ (Python, torch, Qt, resources).
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#ExeName}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#ExeName}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#ExeName}"; Description: "{cm:LaunchProgram,{#StringChange(AppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent
