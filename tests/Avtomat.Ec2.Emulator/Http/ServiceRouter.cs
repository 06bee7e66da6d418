using Avtomat.Ec2.Emulator.Model;
using Microsoft.AspNetCore.Http;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>Every AWS call arrives at the same URL; the service named in its SigV4 credential scope picks the endpoint.
/// <c>kms</c> (or an X-Amz-Target of TrentService) goes to <see cref="KmsEndpoint"/>, <c>sts</c> goes to <see cref="StsEndpoint"/>, and so does an unsigned call whose Action or X-Amz-Target names an STS
/// operation (AssumeRoleWithWebIdentity is unsigned); anything else (other unsigned calls or an unreadable scope
/// included) goes to <see cref="Ec2Endpoint"/>, which answers it as before. An unsigned GET to
/// <c>/federation/credentials</c> is the SSO portal's GetRoleCredentials (<see cref="SsoPortalEndpoint"/>).</summary>
internal sealed class ServiceRouter(EmulatorState state)
{
    private readonly Ec2Endpoint _ec2 = new(state);
    private readonly StsEndpoint _sts = new(state);
    private readonly SsoPortalEndpoint _sso = new(state);
    private readonly KmsEndpoint _kms = new(state);

    public async Task HandleAsync(HttpContext http)
    {
        // REST-JSON, unsigned, no body: the path says it all.
        if (SsoPortalEndpoint.IsSsoCall(http.Request) && string.IsNullOrEmpty(http.Request.Headers.Authorization))
        {
            await _sso.HandleAsync(http);
            return;
        }
        // Read once: a presigned call carries its scope (X-Amz-Credential) in the query or form body.
        var parameters = await Ec2Request.ReadAsync(http.Request);
        var credential = SigV4Scope.TryParse(http.Request.Headers.Authorization.ToString(), parameters.Get("X-Amz-Credential"));
        if (credential is { Service: KmsEndpoint.ScopeService } || KmsEndpoint.IsKmsCall(http.Request)) await _kms.HandleAsync(http, credential);
        else if (credential is { Service: StsEndpoint.ScopeService }) await _sts.HandleAsync(http, parameters, credential);
        else if (credential is null && StsEndpoint.IsStsCall(http.Request, parameters)) await _sts.HandleAsync(http, parameters, null);
        else await _ec2.HandleAsync(http, parameters);
    }

    public static Task ReplyAsync(HttpContext http, int status, string contentType, string body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = contentType;
        return http.Response.WriteAsync(body);
    }
}
